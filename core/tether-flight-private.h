/* tether-flight-private.h: acquiring, one provider call per (template,
 * context) shared by every caller. Private to libtether, never installed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-flight-private.h is private to libtether"
#endif

#include "tether.h"

G_BEGIN_DECLS

/* The slow path of every synchronous acquire: joins the acquire under way
 * or leads a new one. @context is resolved and alive for the duration of
 * the call (the caller's guarantee). *@out_led, if not NULL, tells whether
 * this call ran the provider. */
gpointer _tether_flight_acquire       (TetherTemplate  *self,
                                       GMainContext    *context,
                                       gboolean        *out_led,
                                       GError         **error);
/* Queues @task (returning a pointer) on the flight for (@self, @context),
 * starting one if there is none. Consumes @task. */
void     _tether_flight_acquire_async (TetherTemplate  *self,
                                       GMainContext    *context,
                                       GTask           *task);

G_END_DECLS
