/* tether-thread-cache-private.h: the per-thread cache of the hit path.
 * Private to libtether, never installed.
 *
 * A small direct-mapped table per thread, each slot validated by the
 * template's generation counter (tether-entry-private.h). The lookup is
 * inline so that a hit costs no call beyond the public one.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-thread-cache-private.h is private to libtether"
#endif

#include "tether.h"

G_BEGIN_DECLS

#define CACHE_SLOTS_LOG2 6
#define CACHE_SLOTS      (1u << CACHE_SLOTS_LOG2)

typedef struct
{
  TetherTemplate *template;   /* identity only */
  GMainContext   *context;    /* identity only */
  gpointer        resource;
  guint64         generation; /* the template's generation when stored */
} CacheSlot;

typedef struct
{
  CacheSlot slots[CACHE_SLOTS];
} ThreadCache;

/* Defined in tether-thread-cache.c; never exported (hidden visibility). */
extern __thread ThreadCache *_tether_thread_cache __attribute__((tls_model ("initial-exec")));

static inline guint
_tether_thread_cache_index (TetherTemplate *template,
                            GMainContext   *context)
{
  /* Fibonacci hashing of the two pointers mixed: one multiply, then the top
   * CACHE_SLOTS_LOG2 bits, whatever the width of a pointer. */
  guintptr h = ((guintptr) template ^ ((guintptr) context >> 3)) * (guintptr) 0x9E3779B97F4A7C15ull;

  return (guint) (h >> (sizeof h * 8 - CACHE_SLOTS_LOG2));
}

static inline gpointer
_tether_thread_cache_lookup (TetherTemplate *template,
                             GMainContext   *context,
                             guint64         generation)
{
  ThreadCache *cache = _tether_thread_cache;
  CacheSlot *slot;

  if (G_UNLIKELY (cache == NULL))
    return NULL;

  slot = &cache->slots[_tether_thread_cache_index (template, context)];
  if (slot->template == template &&
      slot->context == context &&
      slot->generation == generation)
    return slot->resource;

  return NULL;
}

void _tether_thread_cache_store (TetherTemplate *template,
                                 GMainContext   *context,
                                 gpointer        resource,
                                 guint64         generation);

G_END_DECLS
