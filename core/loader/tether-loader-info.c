/* tether-loader-info.c: what the loader reports, TetherLoadFailure and
 * TetherProviderInfo
 *
 * Immutable boxed values, made by the loader and the scanner client, read
 * by applications and tether-inspect. No state, no lock.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "tether-loader-private.h"

struct _TetherLoadFailure
{
  char            *path;
  TetherLoadStage  stage;
  GError          *error;
};

struct _TetherProviderInfo
{
  char    *name;
  char    *description;
  char    *path;
  char    *resource_type;  /* GType name, or NULL: not declared */
  guint32  abi_version;
  gboolean is_async;
};

G_DEFINE_BOXED_TYPE (TetherLoadFailure, tether_load_failure,
                     tether_load_failure_copy, tether_load_failure_free)
G_DEFINE_BOXED_TYPE (TetherProviderInfo, tether_provider_info,
                     tether_provider_info_copy, tether_provider_info_free)

TetherLoadFailure *
_tether_load_failure_new_take (const char      *path,
                               TetherLoadStage  stage,
                               GError          *error)
{
  TetherLoadFailure *failure = g_new0 (TetherLoadFailure, 1);

  failure->path = g_strdup (path);
  failure->stage = stage;
  failure->error = error;
  return failure;
}

TetherProviderInfo *
_tether_provider_info_new_take (char     *name,
                                char     *description,
                                char     *real_path,
                                guint32   abi_version,
                                gboolean  is_async,
                                char     *resource_type)
{
  TetherProviderInfo *info = g_new0 (TetherProviderInfo, 1);

  info->name = name;
  info->description = description;
  info->path = real_path;
  info->abi_version = abi_version;
  info->is_async = is_async;
  info->resource_type = resource_type;
  return info;
}

/* The start of the character @p is in (@text is valid UTF-8). */
static const char *
char_start (const char *text,
            const char *p)
{
  while (p > text && (*p & 0xc0) == 0x80)
    p--;
  return p;
}

void
_tether_loader_make_message_safe (GError **error)
{
  char *safe;
  gsize length;

  if (error == NULL || *error == NULL)
    return;
  if (g_utf8_validate ((*error)->message, -1, NULL) &&
      strlen ((*error)->message) <= TETHER_LOADER_MESSAGE_MAX)
    return;

  /* Escapes what is not UTF-8 (a name or path of Latin-1 bytes). */
  if (g_utf8_validate ((*error)->message, -1, NULL))
    safe = g_strdup ((*error)->message);
  else
    safe = _tether_escape_for_message ((*error)->message, G_MAXSIZE);

  /* Cuts the middle of what a 64 MiB provider name makes of a message:
   * its start names the module, its end says what to do. */
  length = strlen (safe);
  if (length > TETHER_LOADER_MESSAGE_MAX)
    {
      const char *head_end = char_start (safe, safe + TETHER_LOADER_MESSAGE_MAX / 2);
      const char *tail = char_start (safe, safe + length - TETHER_LOADER_MESSAGE_MAX / 4);
      char *shorter = g_strdup_printf ("%.*s\u2026 (%" G_GSIZE_FORMAT " bytes left out) \u2026%s",
                                       (int) (head_end - safe), safe,
                                       (gsize) (tail - head_end), tail);

      g_free (safe);
      safe = shorter;
    }
  g_free ((*error)->message);
  (*error)->message = safe;
}

static const struct
{
  const char *word;
  const char *description;
} stages[] = {
  [TETHER_LOAD_STAGE_NONE] = { "none", "before the module was opened" },
  [TETHER_LOAD_STAGE_CHECK] = { "check", "in the path and permission checks" },
  [TETHER_LOAD_STAGE_OPEN] = { "open", "in its ELF constructors or while its dependencies loaded (dlopen)" },
  [TETHER_LOAD_STAGE_ENTRY] = { "entry", "in its entry point " TETHER_PROVIDER_ENTRY_SYMBOL " ()" },
  [TETHER_LOAD_STAGE_VALIDATE] = { "validate", "while its vtable was checked" },
  [TETHER_LOAD_STAGE_REGISTER] = { "register", "while its name was registered" },
  [TETHER_LOAD_STAGE_INIT] = { "init", "in its init hook" },
  [TETHER_LOAD_STAGE_ACQUIRE] = { "acquire", "in its acquire" },
  [TETHER_LOAD_STAGE_RELEASE] = { "release", "in its release" },
  [TETHER_LOAD_STAGE_SHUTDOWN] = { "shutdown", "in its shutdown hook" },
};

const char *
_tether_load_stage_describe (TetherLoadStage stage)
{
  g_return_val_if_fail ((guint) stage < G_N_ELEMENTS (stages), "?");

  return stages[stage].description;
}

const char *
_tether_load_stage_to_string (TetherLoadStage stage)
{
  g_return_val_if_fail ((guint) stage < G_N_ELEMENTS (stages), "?");

  return stages[stage].word;
}

gboolean
_tether_load_stage_from_string (const char      *word,
                                TetherLoadStage *out_stage)
{
  for (guint i = 0; i < G_N_ELEMENTS (stages); i++)
    if (g_strcmp0 (word, stages[i].word) == 0)
      {
        *out_stage = (TetherLoadStage) i;
        return TRUE;
      }
  return FALSE;
}

/**
 * tether_load_failure_copy:
 * @failure: a #TetherLoadFailure
 *
 * Copies @failure. Callable from any thread.
 *
 * Returns: (transfer full): a copy of @failure
 */
TetherLoadFailure *
tether_load_failure_copy (const TetherLoadFailure *failure)
{
  g_return_val_if_fail (failure != NULL, NULL);

  return _tether_load_failure_new_take (failure->path, failure->stage,
                                        g_error_copy (failure->error));
}

/**
 * tether_load_failure_free:
 * @failure: (nullable): a #TetherLoadFailure
 *
 * Frees @failure. Callable from any thread.
 */
void
tether_load_failure_free (TetherLoadFailure *failure)
{
  if (failure == NULL)
    return;

  g_free (failure->path);
  g_clear_error (&failure->error);
  g_free (failure);
}

/**
 * tether_load_failure_get_path:
 * @failure: a #TetherLoadFailure
 *
 * Gets the file or directory that could not be used.
 *
 * Returns: (transfer none) (type filename): the path, as the loader saw it
 */
const char *
tether_load_failure_get_path (const TetherLoadFailure *failure)
{
  g_return_val_if_fail (failure != NULL, NULL);

  return failure->path;
}

/**
 * tether_load_failure_get_error:
 * @failure: a #TetherLoadFailure
 *
 * Gets why the file could not be used: an error in the %TETHER_ERROR domain
 * whose message names the file.
 *
 * Returns: (transfer none): the error
 */
const GError *
tether_load_failure_get_error (const TetherLoadFailure *failure)
{
  g_return_val_if_fail (failure != NULL, NULL);

  return failure->error;
}

/**
 * tether_load_failure_get_stage:
 * @failure: a #TetherLoadFailure
 *
 * Gets the stage the loader was in when the file failed: for a module
 * examined by [func@Tether.list_providers_full] that crashed or hung, the
 * stage it crashed or hung in (its ELF constructors, its entry point...).
 * Callable from any thread.
 *
 * Returns: the stage, %TETHER_LOAD_STAGE_NONE for a directory or a search
 *   path entry
 *
 * Since: 0.2
 */
TetherLoadStage
tether_load_failure_get_stage (const TetherLoadFailure *failure)
{
  g_return_val_if_fail (failure != NULL, TETHER_LOAD_STAGE_NONE);

  return failure->stage;
}

/**
 * tether_provider_info_copy:
 * @info: a #TetherProviderInfo
 *
 * Copies @info. Callable from any thread.
 *
 * Returns: (transfer full): a copy of @info
 */
TetherProviderInfo *
tether_provider_info_copy (const TetherProviderInfo *info)
{
  TetherProviderInfo *copy;

  g_return_val_if_fail (info != NULL, NULL);

  copy = g_new0 (TetherProviderInfo, 1);
  copy->name = g_strdup (info->name);
  copy->description = g_strdup (info->description);
  copy->path = g_strdup (info->path);
  copy->resource_type = g_strdup (info->resource_type);
  copy->abi_version = info->abi_version;
  copy->is_async = info->is_async;
  return copy;
}

/**
 * tether_provider_info_free:
 * @info: (nullable): a #TetherProviderInfo
 *
 * Frees @info. Callable from any thread.
 */
void
tether_provider_info_free (TetherProviderInfo *info)
{
  if (info == NULL)
    return;

  g_free (info->name);
  g_free (info->description);
  g_free (info->path);
  g_free (info->resource_type);
  g_free (info);
}

/**
 * tether_provider_info_get_name:
 * @info: a #TetherProviderInfo
 *
 * Gets the name the module's provider gives itself. Callable from any
 * thread.
 *
 * Returns: (transfer none): the provider's name
 */
const char *
tether_provider_info_get_name (const TetherProviderInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);

  return info->name;
}

/**
 * tether_provider_info_get_description:
 * @info: a #TetherProviderInfo
 *
 * Gets the one-line description of the module's provider, if it has one.
 * Callable from any thread.
 *
 * Returns: (transfer none) (nullable): the provider's description
 */
const char *
tether_provider_info_get_description (const TetherProviderInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);

  return info->description;
}

/**
 * tether_provider_info_get_path:
 * @info: a #TetherProviderInfo
 *
 * Gets the file the provider was read from. Callable from any thread.
 *
 * Returns: (transfer none) (type filename): the module's file, symbolic
 *   links resolved
 */
const char *
tether_provider_info_get_path (const TetherProviderInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);

  return info->path;
}

/**
 * tether_provider_info_get_abi_version:
 * @info: a #TetherProviderInfo
 *
 * Gets the provider ABI version the module was built against. Callable
 * from any thread.
 *
 * Returns: the `abi_version` the module was built with; see
 *   TETHER_PROVIDER_ABI_VERSION_MAJOR() and TETHER_PROVIDER_ABI_VERSION_MINOR()
 */
guint32
tether_provider_info_get_abi_version (const TetherProviderInfo *info)
{
  g_return_val_if_fail (info != NULL, 0);

  return info->abi_version;
}

/**
 * tether_provider_info_get_resource_type:
 * @info: a #TetherProviderInfo
 *
 * Gets the name of the GObject type the provider declares for its
 * resources (its `resource_type`, provider ABI 1.1), such as
 * `"SoupSession"`. A name rather than a #GType: a listing made out of
 * process ([func@Tether.list_providers_full]) registered the type in the
 * helper process, not in the caller's. Callable from any thread.
 *
 * Returns: (transfer none) (nullable): the type's name, or %NULL when the
 *   provider declares none
 *
 * Since: 0.2
 */
const char *
tether_provider_info_get_resource_type (const TetherProviderInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);

  return info->resource_type;
}

/**
 * tether_provider_info_get_is_async:
 * @info: a #TetherProviderInfo
 *
 * Tells whether the provider only acquires asynchronously. Callable from
 * any thread.
 *
 * Returns: whether the provider acquires asynchronously only (it has no
 *   synchronous `acquire`)
 */
gboolean
tether_provider_info_get_is_async (const TetherProviderInfo *info)
{
  g_return_val_if_fail (info != NULL, FALSE);

  return info->is_async;
}
