/* tether-lock-private.h: the state lock, its rules, and the atomics of the
 * core. Private to libtether, never installed.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-lock-private.h is private to libtether"
#endif

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
 * tether's own synchronisation (docs/design.md, "GLib facts"). */
/* clang-format off */
#ifdef TETHER_PTHREAD_LOCKS
typedef pthread_mutex_t TetherMutex;
typedef pthread_cond_t  TetherCond;
# define TETHER_MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
# define tether_mutex_lock(m)      pthread_mutex_lock (m)
# define tether_mutex_unlock(m)    pthread_mutex_unlock (m)
# define tether_cond_init(c)       pthread_cond_init ((c), NULL)
# define tether_cond_clear(c)      pthread_cond_destroy (c)
# define tether_cond_wait(c, m)    pthread_cond_wait ((c), (m))
# define tether_cond_broadcast(c)  pthread_cond_broadcast (c)
#else
typedef GMutex TetherMutex;
typedef GCond  TetherCond;
# define TETHER_MUTEX_INIT { 0 }
# define tether_mutex_lock(m)      g_mutex_lock (m)
# define tether_mutex_unlock(m)    g_mutex_unlock (m)
# define tether_cond_init(c)       g_cond_init (c)
# define tether_cond_clear(c)      g_cond_clear (c)
# define tether_cond_wait(c, m)    g_cond_wait ((c), (m))
# define tether_cond_broadcast(c)  g_cond_broadcast (c)
#endif
/* clang-format on */

/*
 * Locking rules
 *
 * One process-wide mutex, the "state lock", guards all bookkeeping of the
 * slow paths: the template lists (tether-template.c), every template's
 * entry table (tether-entry.c), the context records, the purge queue and
 * the janitor's state (tether-janitor.c), and the fields of flights and
 * waiters marked so (tether-flight.c). It is never held while
 *   - a provider function runs,
 *   - a user callback runs or a GTask returns,
 *   - a message is logged,
 *   - a GMainContext reference is dropped or a GSource destroyed (the
 *     sentinel's notify takes the lock, and may run inside either).
 * The hit path takes no lock at all: it reads a per-thread cache validated by
 * the template's generation counter (tether-entry-private.h).
 *
 * Lock order: the loader's lock (only the names being loaded; never held
 * while init or any provider code runs), then the state lock, then a
 * GMainContext's own lock (g_source_attach() and g_main_context_acquire()
 * under the state lock). Never a context's lock and then the state lock:
 * GLib never calls a source's destroy notify or callback with a context
 * lock held.
 *
 * "Finish after unlock": a *_locked function that must do something the
 * rules above forbid under the lock (destroy a source, free an entry whose
 * template may finalize, log) returns what is left to do, and its caller
 * finishes it once the lock is released.
 *
 * A *_locked function is called with the state lock held and returns with it
 * still held.
 */
extern TetherMutex _tether_state_lock;

#define TETHER_STATE_LOCK()   tether_mutex_lock (&_tether_state_lock)
#define TETHER_STATE_UNLOCK() tether_mutex_unlock (&_tether_state_lock)

/* Orderings that GLib provides with its own locks, invisible to TSan, made
 * visible to it: the thread that releases @p happens before the one that
 * acquires it. No-ops in other builds. */
#ifdef TETHER_PTHREAD_LOCKS
void __tsan_acquire (void *addr);
void __tsan_release (void *addr);
# define tether_tsan_acquire(p) __tsan_acquire (p)
# define tether_tsan_release(p) __tsan_release (p)
#else
# define tether_tsan_acquire(p) ((void) (p))
# define tether_tsan_release(p) ((void) (p))
#endif

/* Reference counts of flights and waiters. GLib's g_atomic_ref_count_*()
 * are functions inside libglib, whose atomics ThreadSanitizer cannot see;
 * the g_atomic_int_*() macros expand to compiler atomics in the calling
 * file, which TSan instruments. */
#define ref_count_init(rc) g_atomic_int_set ((rc), 1)
#define ref_count_inc(rc)  g_atomic_int_inc (rc)
#define ref_count_dec(rc)  g_atomic_int_dec_and_test (rc)

/* 64-bit loads and stores with explicit ordering, for the hit path's
 * generation counters; g_atomic_*() has no 64-bit integer form. */
#define tether_atomic_load_acquire(p)     __atomic_load_n ((p), __ATOMIC_ACQUIRE)
#define tether_atomic_store_release(p, v) __atomic_store_n ((p), (v), __ATOMIC_RELEASE)
#define tether_atomic_load_relaxed(p)     __atomic_load_n ((p), __ATOMIC_RELAXED)
#define tether_atomic_store_relaxed(p, v) __atomic_store_n ((p), (v), __ATOMIC_RELAXED)
#define tether_atomic_add_relaxed(p, v)   ((void) __atomic_fetch_add ((p), (v), __ATOMIC_RELAXED))

G_END_DECLS
