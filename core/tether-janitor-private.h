/* tether-janitor-private.h: the record of each live context tether serves,
 * the sentinel that notices its death, the purge of what it left, and the
 * diagnostics of unmanaged use. Private to libtether, never installed.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-janitor-private.h is private to libtether"
#endif

#include "tether.h"

G_BEGIN_DECLS

/* One live context that has entries, a manager, or both. Every field is
 * protected by the state lock and has one writer, named at the field. */
typedef struct _TetherContextRecord
{
  GMainContext  *context;     /* identity only, never a reference */
  GSource       *sentinel;    /* owned; notices the context's death (janitor) */
  TetherManager *manager;     /* the active manager, or NULL; weak (claim) */
  struct _TetherEntry *held;  /* held entries, most recently acquired first (entry) */
  guint32        id;          /* tells records at one address apart: wraps after
                               * 2^32 records, and a stale check would then also
                               * need the same address */
  guint          n_entries : 29; /* entries, held or in flight (entry) */
  guint          warned : 1;  /* the unmanaged warning was given (janitor) */
  guint          detached : 1; /* sentinel destroyed on purpose (janitor) */
  guint          entered : 1; /* a manager entered: kept until the context dies (claim) */
} TetherContextRecord;

/* 40 bytes on 64-bit, a 48-byte malloc chunk: bench-memory's per-context
 * figure depends on it. */
G_STATIC_ASSERT (sizeof (gpointer) != 8 || sizeof (TetherContextRecord) <= 40);

TetherContextRecord *_tether_context_record_lookup_locked (GMainContext        *context);
/* The record of @context, created with its sentinel attached if it has
 * none (*@out_first then TRUE: the caller logs "context-first-served"
 * once unlocked). The caller guarantees @context is alive. */
TetherContextRecord *_tether_janitor_watch_locked         (GMainContext        *context,
                                                           gboolean            *out_first);
/* When a live context has nothing left for tether (no entries, no manager,
 * never entered by one, never warned about), drops its record. Returns the sentinel to pass to
 * _tether_janitor_finish_unwatch() after unlocking, by a caller that
 * guarantees the context is alive until then. */
GSource             *_tether_janitor_unwatch_if_idle_locked (TetherContextRecord *record) G_GNUC_WARN_UNUSED_RESULT;
void                 _tether_janitor_finish_unwatch       (GSource             *sentinel);

/* Makes @manager the context's manager. Returns the one already active
 * instead, leaving it, or NULL. From then on the record stays until the
 * context dies. */
TetherManager       *_tether_context_record_claim_locked  (TetherContextRecord *record,
                                                           TetherManager       *manager);
/* Ends @manager's claim; FALSE if it had none (@record may be NULL). */
gboolean             _tether_context_record_unclaim_locked (TetherContextRecord *record,
                                                           TetherManager       *manager);
/* For tests: the id of @context's record (a new record, with a new
 * sentinel, has a new id), or 0 if it has none. Takes the state lock. */
guint32              _tether_context_record_id_for_tests  (GMainContext        *context);

/* The unmanaged warning for a second distinct context: TRUE once per
 * unmanaged context, when warnings are on; the caller gives it with
 * _tether_janitor_warn_unmanaged() once unlocked. */
gboolean             _tether_janitor_take_warning_locked  (TetherContextRecord *record);
void                 _tether_janitor_warn_unmanaged       (const char          *name,
                                                           GMainContext        *context);

/* Remembers that this thread acquired an unmanaged resource for its
 * thread-default @context, for the leak check at its exit. */
void                 _tether_janitor_watch_thread_locked  (TetherContextRecord *record);

/* Takes held @entry of @record off the tables into the purge queue, for an
 * ungraceful release by the janitor, as if its context had died. Returns
 * whether the caller must attach a janitor idle once unlocked (with
 * _tether_janitor_schedule()). */
gboolean             _tether_janitor_discard_locked       (TetherContextRecord *record,
                                                           struct _TetherEntry *entry);
void                 _tether_janitor_schedule             (gboolean             attach);

/* The watch tether gives a provider that watches its resources (ABI 1.2)
 * for one resource; freed after the provider's release of it. */
typedef struct
{
  TetherResourceWatch  public;     /* discard: the janitor's */
  TetherTemplate      *template;   /* alive while the resource counts in its n_alive */
  GMainContext        *context;    /* identity only */
  gpointer             resource;
  gboolean             died;       /* state lock: discarded before it was handed out */
  gboolean             released;   /* state lock: taken for release: discard does nothing */
} TetherHeldWatch;

TetherHeldWatch     *_tether_janitor_held_watch_new       (TetherTemplate      *template,
                                                           GMainContext        *context,
                                                           gpointer             resource);

/* Releases, ungracefully and outside the lock, every queued resource of a
 * dead context (only @only's when @only is not NULL). Returns how many. */
guint                _tether_janitor_purge                (TetherTemplate      *only);

/* In a child after fork(): forgets every record, the purge queue and the
 * exit checks, releasing nothing (what they hold is the parent's). */
void                 _tether_janitor_forget_all_locked    (void);

G_END_DECLS
