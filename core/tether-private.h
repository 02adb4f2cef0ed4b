/* tether-private.h: private to libtether, never installed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "tether.h"

#if defined (__SANITIZE_THREAD__)
# define TETHER_PTHREAD_LOCKS 1
#elif defined (__has_feature)
# if __has_feature (thread_sanitizer)
#  define TETHER_PTHREAD_LOCKS 1
# endif
#endif

#ifdef TETHER_PTHREAD_LOCKS
# include <pthread.h>
#endif

G_BEGIN_DECLS

/* GMutex and GCond are raw futexes on Linux, which ThreadSanitizer cannot
 * see; under TSan the same code uses pthread primitives so that TSan checks
 * tether's own synchronisation (see GLIB-NOTES.md). */
#ifdef TETHER_PTHREAD_LOCKS
typedef pthread_mutex_t TetherMutex;
typedef pthread_cond_t  TetherCond;
# define TETHER_MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
# define tether_mutex_lock(m)      pthread_mutex_lock (m)
# define tether_mutex_unlock(m)    pthread_mutex_unlock (m)
# define tether_cond_init(c)       pthread_cond_init ((c), NULL)
# define tether_cond_clear(c)      pthread_cond_destroy (c)
# define tether_cond_wait(c,m)     pthread_cond_wait ((c), (m))
# define tether_cond_broadcast(c)  pthread_cond_broadcast (c)
#else
typedef GMutex TetherMutex;
typedef GCond  TetherCond;
# define TETHER_MUTEX_INIT { 0 }
# define tether_mutex_lock(m)      g_mutex_lock (m)
# define tether_mutex_unlock(m)    g_mutex_unlock (m)
# define tether_cond_init(c)       g_cond_init (c)
# define tether_cond_clear(c)      g_cond_clear (c)
# define tether_cond_wait(c,m)     g_cond_wait ((c), (m))
# define tether_cond_broadcast(c)  g_cond_broadcast (c)
#endif

/*
 * Locking rules
 *
 * One process-wide mutex, the "state lock", guards all bookkeeping of the
 * slow paths: the template list, every template's entry table, the context
 * records and the purge queue. It is never held while
 *   - a provider function runs,
 *   - a user callback runs or a GTask returns,
 *   - a message is logged,
 *   - a GMainContext reference is dropped or a GSource destroyed (the
 *     sentinel's notify takes the lock, and may run inside either).
 * The hit path takes no lock at all: it reads a per-thread cache validated by
 * the template's generation counter (see tether-template.c).
 */
extern TetherMutex _tether_state_lock;

#define TETHER_STATE_LOCK()   tether_mutex_lock (&_tether_state_lock)
#define TETHER_STATE_UNLOCK() tether_mutex_unlock (&_tether_state_lock)

typedef struct _TetherFlight TetherFlight;

/* One (template, context) pair. Lives in its template's entry table, which
 * is a set keyed by @context. Holds a reference on its template. */
typedef struct _TetherEntry
{
  GMainContext *context;      /* identity only, never a reference */
  gpointer      resource;     /* valid when flight == NULL */
  guint64       serial;       /* acquisition order, for LIFO release */
  TetherFlight *flight;       /* non-NULL while the provider acquires */
} TetherEntry;

/* What tether knows of one live context that has (or had) entries. */
typedef struct _TetherContextRecord
{
  GMainContext  *context;     /* identity only, never a reference */
  GSource       *sentinel;    /* owned; notices the context's death */
  guint64        id;          /* unique across the process's lifetime */
  TetherManager *manager;     /* the active owning manager, or NULL; weak */
  guint          n_entries;   /* entries (held or in flight) for this context */
  guint          warned : 1;  /* the unmanaged warning was given */
  guint          detached : 1;/* sentinel destroyed on purpose */
} TetherContextRecord;

/* A resource of a dead context, waiting for ungraceful release. */
typedef struct
{
  TetherTemplate *template;   /* owned reference */
  gpointer        resource;
} TetherDeadResource;

/* tether-context.c, all *_locked functions need the state lock */
TetherContextRecord *_tether_context_record_lookup_locked  (GMainContext        *context);
TetherContextRecord *_tether_context_record_ensure_locked  (GMainContext        *context);
GSource             *_tether_context_record_maybe_detach_locked (TetherContextRecord *record);
void                 _tether_context_record_finish_detach (GSource             *sentinel);
guint64              _tether_next_serial_locked            (void);
guint64              _tether_next_generation_locked        (void);
gboolean             _tether_unmanaged_warning_enabled     (void);
void                 _tether_thread_watch_context_locked   (GMainContext        *context,
                                                            guint64              record_id);

/* The per-thread cache of the hit path: a small direct-mapped table per
 * thread, each slot validated by the template's generation counter. The
 * lookup is inline so that a hit costs no call beyond the public one. */
#define CACHE_SLOTS 64  /* a power of two */

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
  GArray   *watched;          /* ExitCheck: thread-default contexts with unmanaged resources */
} ThreadCache;

/* Defined in tether-context.c; never exported (hidden visibility). */
extern __thread ThreadCache *_tether_thread_cache __attribute__((tls_model ("initial-exec")));

static inline guint
_tether_cache_index (TetherTemplate *template,
                     GMainContext   *context)
{
  /* Fibonacci hashing of the two pointers mixed: one multiply. */
  guintptr h = ((guintptr) template ^ ((guintptr) context >> 3)) * 0x9E3779B97F4A7C15ull;

  return (guint) (h >> 58) & (CACHE_SLOTS - 1);
}

static inline gpointer
_tether_cache_lookup (TetherTemplate *template,
                      GMainContext   *context,
                      guint64         generation)
{
  ThreadCache *cache = _tether_thread_cache;
  CacheSlot *slot;

  if (G_UNLIKELY (cache == NULL))
    return NULL;

  slot = &cache->slots[_tether_cache_index (template, context)];
  if (slot->template == template &&
      slot->context == context &&
      slot->generation == generation)
    return slot->resource;

  return NULL;
}

void                 _tether_cache_store                   (TetherTemplate      *template,
                                                            GMainContext        *context,
                                                            gpointer             resource,
                                                            guint64              generation);

/* Calls into a context from any thread: pushes @context as thread-default
 * when this thread can own it. Returns whether it did. */
gboolean             _tether_context_enter                 (GMainContext        *context);
void                 _tether_context_leave                 (GMainContext        *context,
                                                            gboolean             entered);

/* tether-template.c */
gboolean             _tether_provider_validate             (const TetherProvider *provider,
                                                            TetherProvider      *out_copy,
                                                            GError             **error);
TetherTemplate      *_tether_template_new_validated        (const TetherProvider *copy,
                                                            gpointer             provider_data,
                                                            GDestroyNotify       provider_data_destroy);
GPtrArray           *_tether_templates_locked              (void);
GPtrArray           *_tether_all_templates_locked          (void);
void                 _tether_template_take_dead_locked     (TetherTemplate      *self,
                                                            GMainContext        *context,
                                                            GArray              *dead);
guint                _tether_template_collect_held_locked  (TetherTemplate      *self,
                                                            GMainContext        *context,
                                                            GPtrArray           *out);
gpointer             _tether_template_acquire_full         (TetherTemplate      *self,
                                                            GMainContext        *context,
                                                            gboolean            *out_led,
                                                            GError             **error);
gboolean             _tether_template_release_full         (TetherTemplate      *self,
                                                            GMainContext        *context,
                                                            gboolean             only_if_held,
                                                            GError             **error);
guint                _tether_release_context               (GMainContext        *context,
                                                            TetherManager       *manager);
void                 _tether_release_dead                  (GArray              *dead);
gpointer             _tether_template_lookup_ref           (TetherTemplate      *self,
                                                            GMainContext        *context,
                                                            gpointer           (*ref_func) (gpointer));
GMainContext        *_tether_resolve_context               (GMainContext        *context);
gboolean             _tether_template_is_registered_locked (TetherTemplate      *self);

/* tether-context.c: purge queue */
guint                _tether_purge_queue_drain             (TetherTemplate      *only);

/* tether-manager.c */
void                 _tether_manager_detach_locked         (TetherManager       *self);

G_END_DECLS
