/* fuzz-canary.c: a libFuzzer target that leaks, on purpose
 *
 * Every input leaks one block allocated here. Its replay in the fuzz suite
 * (fuzz-canary-leak-fails, should_fail) must fail under the same options
 * and LeakSanitizer suppressions as the real targets: so a leak found in a
 * replay fails the stage, and the suppressions are shown to hide no leak
 * of code like ours.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static char *leaked;

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  /* Lost on purpose: the pointer is overwritten at the next input and
   * never freed. */
  leaked = g_malloc (size + 1);
  memcpy (leaked, data, size);
  leaked[size] = '\0';
  leaked = NULL;
  return 0;
}
