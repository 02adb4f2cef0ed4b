/* test-gtask-worker.h: a provider refuses a context another thread owns
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <tether/tether.h>

G_BEGIN_DECLS

/* A GTask worker has no thread-default context: NULL resolves to the
 * global default context, which the main thread owns and iterates in
 * g_main_loop_run(). A resource made there would be driven from two
 * threads. Runs a GTask worker from the main loop that acquires
 * @template for NULL, then inside tether_run_in_new_context(); asserts
 * that the first fails with WRONG_CONTEXT, naming the cure, that the
 * second succeeds, and that nothing stays held. */
void  test_gtask_worker_check  (TetherTemplate *template);

G_END_DECLS
