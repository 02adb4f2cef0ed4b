/* hostile-module.c: provider modules that attack whoever examines them, or
 * that get one of a provider's promises wrong
 *
 * Built once per HOSTILE_* define (see meson.build). Most of them are only
 * ever examined out of process (tether-scanner, through
 * tether_list_providers_full () and tether-inspect): they forge the
 * scanner's records, flood its output, fork, carry huge strings, hang, or
 * crash tether when loaded in-process. HOSTILE_RACE_EVIL is loaded
 * in-process by test-loader-race, and only ever if a path swap fooled the
 * loader.
 *
 * The scanner writes its records to file descriptor 3 (a duplicate of its
 * standard output): that is where a forger writes.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tether/tether.h>

#if defined (HOSTILE_LATIN1_NAME)
# define HOSTILE_NAME "caf\xe9"   /* Latin-1, not UTF-8 */
#elif !defined (HOSTILE_NAME) && defined (HOSTILE_VARIANT_NAME)
# define HOSTILE_NAME HOSTILE_VARIANT_NAME
#elif !defined (HOSTILE_NAME)
# define HOSTILE_NAME "hostile"
#endif

#define RECORD_FD 3

G_GNUC_UNUSED static void
write_to (int         fd,
          const char *text)
{
  gsize length = strlen (text);

  while (length > 0)
    {
      gssize n = write (fd, text, length);

      if (n <= 0)
        return;
      text += n;
      length -= (gsize) n;
    }
}

/* -- forged records ------------------------------------------------------ */

#if defined (HOSTILE_FORGE_THEN_CRASH) || defined (HOSTILE_FORGE_THEN_EXIT)
/* A `done` with nothing before it, then a death: it must not count. */
__attribute__((constructor)) static void
hostile_forge (void)
{
  write_to (RECORD_FD, "done\n");
# ifdef HOSTILE_FORGE_THEN_CRASH
  raise (SIGSEGV);
# else
  _exit (0);
# endif
}
#endif

#ifdef HOSTILE_FORGE_GARBAGE
/* Records no helper writes: a trailing backslash, invalid UTF-8, a NUL, an
 * unknown tag, a number out of range, and a `done` before the helper's
 * own records. The module then loads normally. */
__attribute__((constructor)) static void
hostile_garbage (void)
{
  write_to (RECORD_FD,
            "name trailing\\\n"
            "description caf\\351\n"
            "real-path /a\\000b\n"
            "abi-version 99999999999999999999\n"
            "made-up-tag value\n"
            "done\n");
}
#endif

/* -- floods -------------------------------------------------------------- */

#if defined (HOSTILE_FLOOD_STDERR) || defined (HOSTILE_FLOOD_STDOUT) || \
    defined (HOSTILE_FLOOD_RECORDS)
__attribute__((constructor)) static void
hostile_flood (void)
{
  char line[4096];
# if defined (HOSTILE_FLOOD_STDERR)
  int fd = STDERR_FILENO;
# elif defined (HOSTILE_FLOOD_STDOUT)
  int fd = STDOUT_FILENO;
# else
  int fd = RECORD_FD;
# endif

  /* Record-shaped on the record descriptor: each line is a valid record. */
  memset (line, 'x', sizeof line - 1);
  memcpy (line, "stage open ", strlen ("stage open "));
  line[sizeof line - 2] = '\n';
  line[sizeof line - 1] = '\0';
  for (;;)
    write_to (fd, line);
}
#endif

/* -- forks --------------------------------------------------------------- */

#ifdef HOSTILE_FORK
/* Leaves a child behind that holds the helper's pipes and would live a
 * minute; writes its pid where TETHER_TEST_FORK_PID_FILE says. */
__attribute__((constructor)) static void
hostile_fork (void)
{
  const char *pid_file = getenv ("TETHER_TEST_FORK_PID_FILE");
  pid_t pid = fork ();

  if (pid == 0)
    {
      sleep (60);
      _exit (0);
    }
  if (pid > 0 && pid_file != NULL)
    {
      char text[32];
      int fd = open (pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

      snprintf (text, sizeof text, "%d\n", (int) pid);
      if (fd >= 0)
        {
          write_to (fd, text);
          close (fd);
        }
    }
}
#endif

/* -- slow ---------------------------------------------------------------- */

#ifdef HOSTILE_SLOW_CONSTRUCTOR
__attribute__((constructor)) static void
hostile_slow (void)
{
  sleep (30);
}
#endif

/* -- the path swap ------------------------------------------------------- */

#ifdef HOSTILE_RACE_EVIL
/* Never to run: leaves a mark where TETHER_TEST_EVIL_MARKER says. */
__attribute__((constructor)) static void
hostile_race_evil (void)
{
  const char *marker = getenv ("TETHER_TEST_EVIL_MARKER");

  if (marker != NULL)
    close (open (marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
}
#endif

/* -- linking libtether -------------------------------------------------- */

#ifdef HOSTILE_LINKS_LIBTETHER
/* Uses tether's API, so that the link keeps libtether-1 as a dependency
 * (the guide forbids both). */
__attribute__((visibility ("default"))) guint hostile_purge (void);
__attribute__((visibility ("default"))) guint
hostile_purge (void)
{
  return tether_purge ();
}
#endif

/* -- the provider -------------------------------------------------------- */

G_GNUC_UNUSED static int resource_value;

G_GNUC_UNUSED static gpointer
hostile_acquire (GMainContext  *context,
                 gpointer       provider_data,
                 GError       **error)
{
#ifdef HOSTILE_NOT_AN_INSTANCE
  /* Declares GCancellable and returns a string. */
  return (gpointer) "a string, not a GCancellable";
#else
  return &resource_value;
#endif
}

#if defined (HOSTILE_ASYNC_NEVER_COMPLETES) || defined (HOSTILE_FINISH_VALUE_AND_ERROR)
G_GNUC_UNUSED static GTask *forgotten_task;

static void
hostile_acquire_async (GMainContext        *context,
                       gpointer             provider_data,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

# ifdef HOSTILE_ASYNC_NEVER_COMPLETES
  /* Kept, never returned: the callback never comes. */
  forgotten_task = task;
# else
  g_task_return_pointer (task, &resource_value, NULL);
  g_object_unref (task);
# endif
}

static gpointer
hostile_acquire_finish (GAsyncResult  *result,
                        GError       **error)
{
  gpointer resource = g_task_propagate_pointer (G_TASK (result), NULL);

# ifdef HOSTILE_FINISH_VALUE_AND_ERROR
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "finish sets an error and returns a value");
# endif
  return resource;
}
#endif

static void
hostile_release (gpointer      resource,
                 GMainContext *context,
                 gboolean      graceful,
                 gpointer      provider_data)
{
#ifdef HOSTILE_RELEASE_NEEDS_CONTEXT
  /* Wrong: an ungraceful release gets context == NULL. */
  g_assert (context != NULL);
#endif
#ifdef HOSTILE_SLOW_RELEASE
  g_usleep (600 * 1000);
#endif
}

#ifdef HOSTILE_NOT_AN_INSTANCE
static GType
hostile_resource_type (void)
{
  return G_TYPE_CANCELLABLE;
}
#endif

#if defined (HOSTILE_HUGE_DESCRIPTION) || defined (HOSTILE_HUGE_NAME)
# define HOSTILE_CONST
#else
# define HOSTILE_CONST const
#endif

static HOSTILE_CONST TetherProvider hostile_provider = {
  .abi_version = TETHER_PROVIDER_ABI_VERSION,
  .struct_size = sizeof (TetherProvider),
  .name = HOSTILE_NAME,
  .description = "a module of the hostile test corpus",
#if defined (HOSTILE_ASYNC_NEVER_COMPLETES) || defined (HOSTILE_FINISH_VALUE_AND_ERROR)
  .acquire_async = hostile_acquire_async,
  .acquire_finish = hostile_acquire_finish,
#else
  .acquire = hostile_acquire,
#endif
  .release = hostile_release,
#ifdef HOSTILE_NOT_AN_INSTANCE
  .resource_type = hostile_resource_type,
#endif
};

#if defined (HOSTILE_HUGE_DESCRIPTION) || defined (HOSTILE_HUGE_NAME)
/* 64 MiB of text, made at load time (a constant would make a 64 MiB file). */
__attribute__((constructor)) static void
hostile_huge (void)
{
  gsize size = 64 * 1024 * 1024;
  char *text = malloc (size + 1);

  memset (text, 'a', size);
  text[size] = '\0';
# ifdef HOSTILE_HUGE_NAME
  hostile_provider.name = text;
# else
  hostile_provider.description = text;
# endif
}
#endif

TETHER_DEFINE_PROVIDER (hostile_provider)
