/* tether-error.h
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether/tether.h> can be included directly."
#endif

#include <glib.h>

#include "tether-version-macros.h"

G_BEGIN_DECLS

/**
 * TETHER_ERROR:
 *
 * The error domain of tether: errors in it carry a [enum@Tether.Error] code.
 */
#define TETHER_ERROR (tether_error_quark ())

/**
 * TetherError:
 * @TETHER_ERROR_FAILED: a failure with no more specific code, for instance a
 *   scope function that returned %FALSE without setting an error.
 * @TETHER_ERROR_NOT_ACQUIRED: nothing is held for that template and context
 *   (Pyot's `ValueError`).
 * @TETHER_ERROR_WRONG_CONTEXT: the calling thread's thread-default main
 *   context is not the one the operation is bound to (Pyot's `RuntimeError`).
 * @TETHER_ERROR_ALREADY_MANAGED: the context already has an active
 *   [class@Tether.Manager] and %TETHER_MANAGER_EXIST_OK was not given.
 * @TETHER_ERROR_INVALID_RESULT: a provider broke its contract: it returned
 *   %NULL without setting an error, or returned a resource and set an error.
 * @TETHER_ERROR_RECURSIVE: a provider's acquire asked, on the same thread, for
 *   the very resource it is acquiring.
 * @TETHER_ERROR_WOULD_BLOCK: a synchronous acquire was asked of a template
 *   whose provider only acquires asynchronously, for a context that another
 *   thread owns, so tether cannot iterate it.
 * @TETHER_ERROR_MODULE_LOAD: a provider module could not be loaded (not a
 *   shared object, unresolved symbols, unreadable).
 * @TETHER_ERROR_NO_ENTRY_POINT: a provider module does not export
 *   `tether_provider_entry`.
 * @TETHER_ERROR_ABI_MISMATCH: a provider was built against another major
 *   version of the provider ABI.
 * @TETHER_ERROR_STRUCT_TOO_SMALL: a provider's `struct_size` is smaller than
 *   the oldest layout tether supports.
 * @TETHER_ERROR_INVALID_NAME: a provider has no name, or one that is not a
 *   valid provider name.
 * @TETHER_ERROR_DUPLICATE_NAME: a provider with that name is already
 *   registered.
 * @TETHER_ERROR_NO_ACQUIRE: a provider has neither `acquire` nor the complete
 *   `acquire_async`/`acquire_finish` pair.
 * @TETHER_ERROR_INIT_FAILED: a provider's `init` hook failed.
 * @TETHER_ERROR_INSECURE_PATH: a provider module or its directory is
 *   writable by group or others.
 * @TETHER_ERROR_INVALID_CONFIG: provider configuration or a search path could
 *   not be parsed.
 *
 * Error codes in the %TETHER_ERROR domain.
 */
typedef enum
{
  TETHER_ERROR_FAILED,
  TETHER_ERROR_NOT_ACQUIRED,
  TETHER_ERROR_WRONG_CONTEXT,
  TETHER_ERROR_ALREADY_MANAGED,
  TETHER_ERROR_INVALID_RESULT,
  TETHER_ERROR_RECURSIVE,
  TETHER_ERROR_WOULD_BLOCK,
  TETHER_ERROR_MODULE_LOAD,
  TETHER_ERROR_NO_ENTRY_POINT,
  TETHER_ERROR_ABI_MISMATCH,
  TETHER_ERROR_STRUCT_TOO_SMALL,
  TETHER_ERROR_INVALID_NAME,
  TETHER_ERROR_DUPLICATE_NAME,
  TETHER_ERROR_NO_ACQUIRE,
  TETHER_ERROR_INIT_FAILED,
  TETHER_ERROR_INSECURE_PATH,
  TETHER_ERROR_INVALID_CONFIG,
} TetherError;

TETHER_AVAILABLE_IN_ALL
GQuark tether_error_quark (void);

G_END_DECLS
