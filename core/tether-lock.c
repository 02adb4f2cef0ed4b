/* tether-lock.c: the state lock (rules in tether-lock-private.h), and what
 * a child keeps of it after fork()
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <pthread.h>

#include "tether-janitor-private.h"
#include "tether-lock-private.h"
#include "tether-template-private.h"

TetherMutex _tether_state_lock = TETHER_MUTEX_INIT;

/* fork() copies the address space with only the calling thread: a lock
 * another thread held would stay held in the child forever, and tables
 * would point to flights of threads that do not exist there. So the state
 * lock is taken around the fork, and the child forgets everything it
 * inherited: the parent's resources are the parent's (a release in the
 * child would run the provider on a copy of the parent's object), so the
 * child starts with none held, and leaks their memory rather than touch
 * them (docs/threads-and-contexts.md, "fork()"). */
static void
fork_prepare (void)
{
  TETHER_STATE_LOCK ();
}

static void
fork_parent (void)
{
  TETHER_STATE_UNLOCK ();
}

static void
fork_child (void)
{
  _tether_template_forget_all_locked ();
  _tether_janitor_forget_all_locked ();
  /* The lock was taken by this thread, the one the child runs. */
  TETHER_STATE_UNLOCK ();
}

/* Registered when the library is loaded; glibc drops a library's fork
 * handlers when it is unloaded. */
__attribute__((constructor)) static void
register_fork_handlers (void)
{
  pthread_atfork (fork_prepare, fork_parent, fork_child);
}
