/* provider-context-private.h: the context check of the providers whose
 * resource binds to the thread-default context it was created in
 *
 * Private to the provider modules shipped with tether; never installed.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <tether/tether.h>

/* The TETHER_ERROR domain, by the name it is registered under (the GIR
 * gives it as the error domain of Tether.Error): a module does not link
 * libtether, so it cannot call tether_error_quark(). */
#define PROVIDER_TETHER_ERROR (g_quark_from_static_string ("tether-error-quark"))

/* Whether an object created on this thread now, for @context, binds to
 * @context: @context must be this thread's thread-default context AND this
 * thread must own it. tether pushes @context around acquire whenever this
 * thread can own it, so a failure here means another thread owns it.
 *
 * Comparing with the thread-default alone is not enough: a thread that has
 * no thread-default context of its own (a GTask or GThreadPool worker)
 * resolves a NULL context to the global default context, which then *is*
 * its thread-default, while the main thread owns it and iterates it. An
 * object created there would be driven from two threads at once.
 *
 * @what names the object ("a SoupSession"). Fails with
 * TETHER_ERROR_WRONG_CONTEXT, saying which thread to use instead. */
static inline gboolean
provider_check_context_owned (GMainContext  *context,
                              const char    *what,
                              GError       **error)
{
  GMainContext *thread_default = g_main_context_ref_thread_default ();
  gboolean is_thread_default = thread_default == context;

  g_main_context_unref (thread_default);

  if (is_thread_default && g_main_context_is_owner (context))
    return TRUE;

  if (is_thread_default)
    g_set_error (error, PROVIDER_TETHER_ERROR, TETHER_ERROR_WRONG_CONTEXT,
                 "Cannot create %s for context %p on this thread: another thread owns that "
                 "context. This thread has no thread-default context of its own, so the "
                 "context is the global default one, which another thread (usually the "
                 "main thread, in its main loop) iterates. Give this thread a context of "
                 "its own (run the work with tether_run_in_new_context(), or "
                 "g_main_context_push_thread_default (g_main_context_new ())), or acquire "
                 "from the thread that iterates the global default context",
                 what, context);
  else
    g_set_error (error, PROVIDER_TETHER_ERROR, TETHER_ERROR_WRONG_CONTEXT,
                 "Cannot create %s for context %p on this thread: another thread owns that "
                 "context, so tether could not make it this thread's thread-default "
                 "context, and the object would bind to another context. Acquire from "
                 "the thread that iterates context %p, or for a context of this "
                 "thread's own",
                 what, context, context);
  return FALSE;
}
