/* tether-manager-private.h: what a TetherManager is made of, and its
 * state. Private to libtether, never installed; shared by tether-manager.c
 * and tether-manager-async.c.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-manager-private.h is private to libtether"
#endif

#include "tether.h"

G_BEGIN_DECLS

typedef enum
{
  MANAGER_IDLE,       /* created, or released */
  MANAGER_ACQUIRING,  /* an acquire (sync or async) is under way */
  MANAGER_ACTIVE,     /* owns its context's scope */
  MANAGER_NOOP,       /* entered with EXIST_OK under another manager */
} ManagerState;

struct _TetherManager
{
  GObject             parent_instance;

  /* Read-only after construction */
  GMainContext       *context;
  TetherManagerFlags  flags;

  /* Changed only from the manager's context (see the thread rules in
   * tether-manager.c); read atomically by other threads */
  gint                state;
};

static inline ManagerState
_tether_manager_get_state (TetherManager *self)
{
  return g_atomic_int_get (&self->state);
}

static inline void
_tether_manager_set_state (TetherManager *self,
                           ManagerState   state)
{
  g_atomic_int_set (&self->state, state);
}

G_END_DECLS
