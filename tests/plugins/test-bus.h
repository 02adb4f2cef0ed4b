/* test-bus.h: a private dbus-daemon that a test can kill and start again
 * at the same address
 *
 * GTestDBus gives a new address each time it comes up; a test of what a
 * long-lived process sees when its bus dies and comes back needs the same
 * one. The daemon listens on a socket in a temporary directory of its own.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _TestBus TestBus;

/* Whether dbus-daemon is installed (./dev deps installs it). */
gboolean    test_bus_available   (void);

/* Starts a daemon; returns once it accepts connections. */
TestBus    *test_bus_new         (GError  **error);
const char *test_bus_get_address (TestBus  *bus);
/* Kills the daemon with SIGKILL (a crash: no goodbye to its clients) and
 * reaps it. */
void        test_bus_kill        (TestBus  *bus);
/* Starts a new daemon at the same address; returns once it accepts
 * connections. */
gboolean    test_bus_restart     (TestBus  *bus,
                                  GError  **error);
/* Kills the daemon if it runs and removes its files. */
void        test_bus_free        (TestBus  *bus);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestBus, test_bus_free)

/* Calls the bus's ListNames on @connection and iterates @context (the
 * calling thread's, where @connection dispatches) until it answers.
 * Returns whether it did, or FALSE with @error set. */
gboolean    test_bus_list_names  (GDBusConnection *connection,
                                  GMainContext    *context,
                                  GError         **error);
/* Sets *@closed (atomically) to 1 when @connection emits `closed`. */
void        test_bus_watch_closed (GDBusConnection *connection,
                                   gint            *closed);

G_END_DECLS
