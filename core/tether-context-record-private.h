/* tether-context-record-private.h: what tether knows of each live
 * GMainContext it serves. Private to libtether, never installed.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-context-record-private.h is private to libtether"
#endif

#include "tether.h"

G_BEGIN_DECLS

/* One live context that has entries, a manager, or both. Every field is
 * protected by the state lock and has one writer, named at the field. */
typedef struct _TetherContextRecord
{
  GMainContext  *context;     /* identity only, never a reference */
  GSource       *sentinel;    /* owned; notices the context's death (janitor.c) */
  TetherManager *manager;     /* the active owning manager, or NULL; weak (record.c) */
  struct _TetherEntry *held;  /* held entries, most recently acquired first (entry.c) */
  guint32        id;          /* tells records at one address apart (record.c):
                               * wraps after 2^32 records, and a stale check
                               * would then also need the same address */
  guint          n_entries : 29; /* entries (held or in flight) for this context (entry.c) */
  guint          warned : 1;  /* the unmanaged warning was given (record.c) */
  guint          detached : 1; /* sentinel destroyed on purpose (janitor.c) */
  guint          kept : 1;    /* a manager that entered may enter again:
                               * not idle when it leaves (record.c) */
} TetherContextRecord;

/* 40 bytes on 64-bit, a 48-byte malloc chunk: bench-memory's per-context
 * figure depends on it. */
G_STATIC_ASSERT (sizeof (gpointer) != 8 || sizeof (TetherContextRecord) <= 40);

TetherContextRecord *_tether_context_record_lookup_locked       (GMainContext        *context);
/* A new record for @context, which has none; its sentinel is the caller's. */
TetherContextRecord *_tether_context_record_insert_locked       (GMainContext        *context);
/* Off the table (no-op if another record took @record's place). */
void                 _tether_context_record_remove_locked       (TetherContextRecord *record);
gboolean             _tether_context_record_is_idle_locked      (TetherContextRecord *record);
/* Makes @manager the context's manager. Returns the one already active
 * instead, leaving it, or NULL. */
TetherManager       *_tether_context_record_claim_locked        (TetherContextRecord *record,
                                                                 TetherManager       *manager);
/* Ends @manager's claim; FALSE if it had none. The record stays kept (not
 * idle) for the manager's next enter, until _tether_context_record_unkeep_locked(). */
gboolean             _tether_context_record_unclaim_locked      (TetherContextRecord *record,
                                                                 TetherManager       *manager);
/* A manager of the context is going away: the record may become idle. */
void                 _tether_context_record_unkeep_locked       (TetherContextRecord *record);
/* For tests: the id of @context's record (a new record, with a new
 * sentinel, has a new id), or 0 if it has none. Takes the state lock. */
guint32              _tether_context_record_id_for_tests        (GMainContext        *context);
/* TRUE once per unmanaged context: the caller gives the warning. */
gboolean             _tether_context_record_take_warning_locked (TetherContextRecord *record);

G_END_DECLS
