/* sysprof-program.c: a small program for test-sysprof: one acquire, one
 * graceful release, one context death and a purge, with its marks
 * written where TETHER_SYSPROF_CAPTURE says
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "test-util.h"

int
main (int    argc,
      char **argv)
{
  TestProvider *tp = test_provider_new ("sysprof-marked");
  TetherTemplate *template;
  GMainContext *context = g_main_context_new ();
  GMainContext *doomed = g_main_context_new ();

  tether_set_unmanaged_warning_enabled (FALSE);
  tp->delay_ms = 2;   /* an acquire that lasts: the mark's duration */
  template = test_provider_template (tp);

  g_assert_nonnull (tether_template_acquire (template, context, NULL));
  g_assert_true (tether_template_release (template, context, NULL));
  g_assert_nonnull (tether_template_acquire (template, doomed, NULL));
  g_main_context_unref (doomed);
  g_assert_cmpuint (tether_purge (), ==, 1);

  tether_template_unregister (template);
  g_object_unref (template);
  g_main_context_unref (context);
  test_provider_free (tp);

  return 0;   /* the capture is flushed at exit */
}
