/* bench-provider.c: the trivial provider module bench-loader copies.
 *
 * Its name is a marker that bench-loader overwrites, in each copy of the
 * module file, with a distinct name of the same length, so that 50 copies
 * register 50 distinct templates.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <tether/tether.h>

static int bench_resource;

static gpointer
bench_provider_acquire (GMainContext  *context,
                        gpointer       provider_data,
                        GError       **error)
{
  return &bench_resource;
}

static const TetherProvider bench_provider = {
  .abi_version = TETHER_PROVIDER_ABI_VERSION,
  .struct_size = sizeof (TetherProvider),
  .name = "tether-bench-provider-000000",   /* patched per copy */
  .description = "a trivial provider for the loader benchmark",
  .acquire = bench_provider_acquire,
};

TETHER_DEFINE_PROVIDER (bench_provider)
