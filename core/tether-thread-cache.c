/* tether-thread-cache.c: the per-thread cache of the hit path
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-thread-cache-private.h"

static void thread_cache_free (gpointer data);

/* initial-exec: one pointer of static TLS, so the hit path reads it with a
 * single %fs-relative load. The cache itself is on the heap (a large static
 * TLS block would make dlopen() of the library fail from Python). */
__thread ThreadCache *_tether_thread_cache __attribute__((tls_model ("initial-exec")));
static GPrivate thread_cache_key = G_PRIVATE_INIT (thread_cache_free);

void
_tether_thread_cache_store (TetherTemplate *template,
                            GMainContext   *context,
                            gpointer        resource,
                            guint64         generation)
{
  ThreadCache *cache = _tether_thread_cache;
  CacheSlot *slot;

  if (cache == NULL)
    {
      cache = g_new0 (ThreadCache, 1);
      _tether_thread_cache = cache;
      g_private_set (&thread_cache_key, cache);
    }

  slot = &cache->slots[_tether_thread_cache_index (template, context)];
  slot->template = template;
  slot->context = context;
  slot->resource = resource;
  slot->generation = generation;
}

static void
thread_cache_free (gpointer data)
{
  ThreadCache *cache = data;

  if (_tether_thread_cache == cache)
    _tether_thread_cache = NULL;

  g_free (cache);
}
