/* test-fork.c: a child forked while other threads use tether starts with
 * tether's state consistent and none of the parent's resources
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-util.h"

#define N_CHURNERS 2
#define N_FORKS    40

typedef struct
{
  TetherTemplate *template;
  gint            stop;   /* atomic */
} Churn;

/* Acquires and releases on a context of its own, with and without a
 * manager, as fast as it can: at any fork, it may hold the state lock. */
static gpointer
churn_thread (gpointer data)
{
  Churn *churn = data;
  GMainContext *context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  while (!g_atomic_int_get (&churn->stop))
    {
      g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);

      g_assert_true (tether_manager_acquire (manager, NULL));
      g_assert_nonnull (tether_template_acquire (churn->template, NULL, NULL));
      tether_manager_release (manager);
      tether_purge ();
    }
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return NULL;
}

/* In the child: only what the child made itself is its own. Returns 0 on
 * success, the step that failed otherwise. */
static int
child_main (TetherTemplate *template,
            TestProvider   *tp,
            GMainContext   *held_context,
            gpointer        held_resource,
            GMainContext   *spare)
{
  gint released_before = g_atomic_int_get (&tp->n_released_graceful);
  TestResource *resource;

  /* The state lock was not left held by a thread that is gone. */
  tether_purge ();

  /* The parent's resource is not the child's: no hit, no lookup. */
  if (tether_template_lookup (template, held_context) != NULL)
    return 2;
  if (tether_template_get_n_held (template) != 0)
    return 3;

  /* The child acquires and releases its own. */
  resource = tether_template_acquire (template, held_context, NULL);
  if (resource == NULL || resource == held_resource || resource->context != held_context)
    return 4;
  if (!tether_template_release (template, held_context, NULL))
    return 5;
  if (g_atomic_int_get (&tp->n_released_graceful) != released_before + 1)
    return 6;

  resource = tether_template_acquire (template, spare, NULL);
  if (resource == NULL)
    return 7;
  if (!tether_template_release (template, spare, NULL))
    return 8;

  return 0;
}

static void
test_fork_while_churning (void)
{
  Churn churn = { 0 };
  GThread *threads[N_CHURNERS];
  GMainContext *context = g_main_context_new ();
  GMainContext *spare = g_main_context_new ();
  TestProvider *tp;
  gpointer held;
  guint n_ok = 0;

  test_reset_global_state ();
  tether_set_unmanaged_warning_enabled (FALSE);
  tp = test_provider_new ("forked");
  churn.template = test_provider_template (tp);

  /* The parent holds one for its own context across every fork. */
  g_main_context_push_thread_default (context);
  held = tether_template_acquire (churn.template, NULL, NULL);
  g_assert_nonnull (held);

  for (guint i = 0; i < N_CHURNERS; i++)
    threads[i] = g_thread_new ("churn", churn_thread, &churn);

  for (guint i = 0; i < N_FORKS; i++)
    {
      gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
      int status = 0;
      pid_t pid, done = 0;

      int report[2];
      guchar step = 0xff;

      g_assert_cmpint (pipe (report), ==, 0);
      g_usleep (g_random_int_range (0, 2000));
      pid = fork ();
      g_assert_cmpint (pid, >=, 0);
      if (pid == 0)
        {
          /* The child reports its step through the pipe and ends with
           * SIGKILL: its memory still holds what the vanished threads
           * referenced, which a leak checker's exit processing (valgrind
           * runs it even on _exit()) would count as lost. */
          step = (guchar) child_main (churn.template, tp, context, held, spare);
          if (write (report[1], &step, 1) != 1)
            _exit (1);
          raise (SIGKILL);
        }
      close (report[1]);

      while ((done = waitpid (pid, &status, WNOHANG)) == 0 && g_get_monotonic_time () < deadline)
        g_usleep (1000);
      if (done == 0)
        {
          kill (pid, SIGKILL);
          waitpid (pid, &status, 0);
          g_error ("child %u (pid %d) hung for 5 s", i, (int) pid);
        }
      if (read (report[0], &step, 1) != 1)
        g_error ("child %u died before reporting (%s %d)", i,
                 WIFSIGNALED (status) ? "signal" : "exit status",
                 WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status));
      close (report[0]);
      if (step != 0)
        g_error ("child %u failed at step %d", i, step);
      n_ok++;
    }

  g_atomic_int_set (&churn.stop, TRUE);
  for (guint i = 0; i < N_CHURNERS; i++)
    g_thread_join (threads[i]);
  g_test_message ("%u children forked while %d threads churned, each consistent", n_ok,
                  N_CHURNERS);

  /* The parent's resource is untouched by the children. */
  g_assert_true (tether_template_lookup (churn.template, NULL) == held);
  g_assert_cmpint (((TestResource *) held)->released, ==, 0);
  g_assert_true (tether_template_release (churn.template, NULL, NULL));
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  g_main_context_unref (spare);
  tether_purge ();
  tether_set_unmanaged_warning_enabled (TRUE);
  test_provider_finish (tp, churn.template);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/fork/while-churning", test_fork_while_churning);

  return g_test_run ();
}
