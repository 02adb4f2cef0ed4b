/* test-sysprof.c: records sysprof-program with tether's capture writer
 * to a file and reads the marks back with Sysprof's capture reader
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>

#include <sysprof-capture.h>

typedef struct
{
  char    group[25];
  char    name[41];
  char   *message;
  gint64  time;
  gint64  duration;
  gint32  pid;
} Mark;

static void
mark_free (gpointer data)
{
  Mark *mark = data;

  g_free (mark->message);
  g_free (mark);
}

static GPtrArray *
read_marks (const char *path)
{
  GPtrArray *marks = g_ptr_array_new_with_free_func (mark_free);
  SysprofCaptureReader *reader = sysprof_capture_reader_new (path);
  SysprofCaptureFrameType type;

  g_assert_nonnull (reader);
  while (sysprof_capture_reader_peek_type (reader, &type))
    {
      if (type == SYSPROF_CAPTURE_FRAME_MARK)
        {
          const SysprofCaptureMark *frame = sysprof_capture_reader_read_mark (reader);
          Mark *mark = g_new0 (Mark, 1);

          g_assert_nonnull (frame);
          g_strlcpy (mark->group, frame->group, sizeof mark->group);
          g_strlcpy (mark->name, frame->name, sizeof mark->name);
          mark->message = g_strndup (frame->message,
                                     frame->frame.len - sizeof *frame);
          mark->time = frame->frame.time;
          mark->duration = frame->duration;
          mark->pid = frame->frame.pid;
          g_ptr_array_add (marks, mark);
        }
      else
        g_assert_true (sysprof_capture_reader_skip (reader));
    }
  sysprof_capture_reader_unref (reader);

  return marks;
}

/* The first of the @n marks of @group, @name and @message. */
static Mark *
find_marks (GPtrArray  *marks,
            const char *group,
            const char *name,
            const char *message,
            guint       n)
{
  Mark *first = NULL;
  guint found = 0;

  for (guint i = 0; i < marks->len; i++)
    {
      Mark *mark = g_ptr_array_index (marks, i);

      if (g_str_equal (mark->group, group) && g_str_equal (mark->name, name) &&
          g_str_equal (mark->message, message))
        {
          if (first == NULL)
            first = mark;
          found++;
        }
    }

  if (found != n)
    g_error ("%u marks %s / %s / %s among %u, expected %u",
             found, group, name, message, marks->len, n);
  return first;
}

/* The program's acquire, both releases and the purge each left a mark
 * named by its template, with a time, a duration and the program's pid. */
static void
test_sysprof_marks (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tether-sysprof-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "capture.syscap", NULL);
  g_autofree char *program = g_test_build_filename (G_TEST_BUILT, "sysprof-program", NULL);
  g_auto(GStrv) envp = g_environ_setenv (g_get_environ (), "TETHER_SYSPROF_CAPTURE", path, TRUE);
  const char *argv[] = { program, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) marks = NULL;
  GPid pid;
  gint status;
  Mark *acquire, *purge;

  g_assert_true (g_spawn_async (NULL, (char **) argv, envp, G_SPAWN_DO_NOT_REAP_CHILD,
                                NULL, NULL, &pid, &error));
  g_assert_no_error (error);
  /* Reaped by hand: no main loop needed for one child. */
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (g_spawn_check_wait_status (status, &error));
  g_spawn_close_pid (pid);

  marks = read_marks (path);
  g_assert_cmpuint (marks->len, ==, 5);
  acquire = find_marks (marks, "tether acquire", "sysprof-marked", "acquired", 2);
  g_assert_cmpint (acquire->duration, >=, 2 * 1000 * 1000);   /* the provider slept 2 ms */
  g_assert_cmpint (acquire->time, >, 0);
  g_assert_cmpint (acquire->pid, ==, pid);
  find_marks (marks, "tether release", "sysprof-marked", "graceful", 1);
  find_marks (marks, "tether release", "sysprof-marked", "ungraceful", 1);
  purge = find_marks (marks, "tether purge", "all", "released 1", 1);
  g_assert_cmpint (purge->time, >, acquire->time);

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sysprof/capture/marks", test_sysprof_marks);

  return g_test_run ();
}
