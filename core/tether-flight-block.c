/* tether-flight-block.c: the one allocation of the flights a manager's
 * enter prepares, the spare block kept for the next enter, and the
 * enter's error message
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-flight-state-private.h"
#include "tether-template-private.h"

/* Atomic: the last freed block, kept for the next enter. A block of a
 * few dozen flights is a "large" malloc request, and glibc consolidates
 * its fast bins before serving one: a fresh block per enter cost more in
 * malloc than the flights it saves (about 50 instructions per template,
 * callgrind). Blocks over SPARE_MAX_FLIGHTS are not kept. */
#define SPARE_MAX_FLIGHTS 256
static TetherFlightBlock *spare_block;

TetherFlightBlock *
_tether_flight_block_new (GMainContext *context,
                          guint         n_flights)
{
  TetherFlightBlock *block = g_atomic_pointer_exchange (&spare_block, NULL);

  if (block != NULL && block->capacity < n_flights)
    g_clear_pointer (&block, g_free);
  /* Each flight is zeroed when it is taken. */
  if (block == NULL)
    {
      block = g_malloc (sizeof (TetherFlightBlock) + n_flights * sizeof (TetherFlight));
      block->capacity = n_flights;
    }
  /* Nobody else sees the block before the enter's hold ends. */
  ref_count_init_private (&block->ref_count, 1);
  block->context = g_main_context_ref (context);
  block->n_used = 0;
  block->n_flights = n_flights;

  return block;
}

/* Never under the state lock: it may drop the last reference of a context. */
void
_tether_flight_block_unref (TetherFlightBlock *block,
                            guint n_refs)
{
  if (g_atomic_int_add (&block->ref_count, -(gint) n_refs) != (gint) n_refs)
    return;

  g_main_context_unref (block->context);
  block->context = NULL;
  if (block->capacity > SPARE_MAX_FLIGHTS ||
      !g_atomic_pointer_compare_and_exchange (&spare_block, NULL, block))
    g_free (block);
}

void
_tether_flight_prefix_error (GError         **error,
                             TetherTemplate  *self,
                             GMainContext    *context)
{
  g_prefix_error (error, "Acquiring '%s' for context %p: ", self->call.name, context);
}
