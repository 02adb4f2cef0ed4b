/* fuzz-provider.c: libFuzzer target for the provider vtable check that both
 * tether_template_new() and the plugin loader use, fed provider structs
 * built from the input (ABI version, struct size, name, which functions are
 * present)
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "tether-loader-private.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

#define CHECK(cond) \
  G_STMT_START { if (!(cond)) { g_printerr ("invariant failed: %s\n", #cond); abort (); } } G_STMT_END

static gpointer
never_acquire (GMainContext *context, gpointer data, GError **error)
{
  abort ();
}

static void
never_acquire_async (GMainContext *context, gpointer data, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data)
{
  abort ();
}

static gpointer
never_acquire_finish (GAsyncResult *result, GError **error)
{
  abort ();
}

static gpointer
never_init (GKeyFile *config, const char *group, GError **error)
{
  abort ();
}

static void
never_shutdown (gpointer data)
{
  abort ();
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  TetherProvider provider = { 0, };
  TetherProvider copy;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  guint32 abi, struct_size;
  guint8 flags;
  gboolean ok;

  if (size < 9)
    return 0;

  memcpy (&abi, data, 4);
  memcpy (&struct_size, data + 4, 4);
  flags = data[8];
  /* The rest is the name (a C string), or NULL when flag bit 3 is set. */
  if (!(flags & 8))
    name = g_strndup ((const char *) data + 9, size - 9);

  provider.abi_version = abi;
  /* Bit 4 keeps the size plausible, so that later checks are reached. */
  provider.struct_size = (flags & 16) ? (guint32) sizeof provider - (struct_size % 16) * 8 : struct_size;
  provider.name = name;
  provider.acquire = (flags & 1) ? never_acquire : NULL;
  provider.acquire_async = (flags & 2) ? never_acquire_async : NULL;
  provider.acquire_finish = (flags & 4) ? never_acquire_finish : NULL;
  /* Bit 5: the module hooks are set too, as a module's struct has them. */
  provider.init = (flags & 32) ? never_init : NULL;
  provider.shutdown = (flags & 32) ? never_shutdown : NULL;

  ok = _tether_provider_validate (&provider, &copy, &error);

  CHECK (ok == (error == NULL));
  if (ok)
    {
      CHECK (TETHER_PROVIDER_ABI_VERSION_MAJOR (abi) == TETHER_PROVIDER_ABI_MAJOR);
      CHECK (provider.struct_size >= TETHER_PROVIDER_MIN_STRUCT_SIZE);
      CHECK (name != NULL && _tether_loader_name_is_valid (name));
      CHECK (copy.struct_size == sizeof copy);
      CHECK (copy.acquire != NULL || (copy.acquire_async != NULL && copy.acquire_finish != NULL));
      /* Nothing beyond what the provider declared was read, and no field
       * was copied in part (a struct_size that ends inside a field). */
      if (provider.struct_size < sizeof provider)
        for (gsize off = provider.struct_size & ~(sizeof (gpointer) - 1);
             off + sizeof (gpointer) <= sizeof copy;
             off += sizeof (gpointer))
          {
            gpointer field;

            memcpy (&field, (guint8 *) &copy + off, sizeof field);
            CHECK (field == NULL);
          }
    }
  else
    CHECK (error->domain == TETHER_ERROR);

  return 0;
}
