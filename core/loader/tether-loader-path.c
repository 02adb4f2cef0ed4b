/* tether-loader-path.c: opening a module file once, and checking what was
 * opened
 *
 * A check of a path followed by a load of the same path is a race: between
 * the two, whoever can change any directory on the way can make the path
 * lead somewhere else. So the path is walked here one component at a time
 * from "/", each directory held open while the next is looked up in it,
 * each one checked (fstat of what was opened, never stat of a name), every
 * symbolic link read and followed by hand (the directory holding it has
 * been checked, and the walk starts again from "/" for an absolute
 * target), and the module file is opened once and checked through that
 * file descriptor. The loader then loads exactly that descriptor
 * (tether-loader.c). No state, no lock.
 *
 * The rule for a directory on the way (docs/plugins.md): owned by root or
 * the effective user, and not writable by group or others, unless it has
 * the sticky bit (as /tmp): then nobody can rename or remove another's
 * entry in it, and what the walk goes through in it must be owned by root
 * or the effective user too. The directory that holds the module, and a
 * search directory, may not be writable by group or others at all, sticky
 * or not: anyone could add a module there.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef _GNU_SOURCE
# define _GNU_SOURCE   /* O_PATH */
#endif

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tether-loader-private.h"

/* As the kernel's own limit on symbolic links followed in one lookup. */
#define MAX_SYMLINKS 40

typedef struct
{
  const char  *subject;     /* the path as the caller gave it */
  const char  *what;        /* "module" or "directory" */
  gboolean     check;       /* FALSE with TETHER_LOAD_ALLOW_INSECURE_PATH */
  GArray      *dir_fds;     /* int: the directories held, "/" first */
  GArray      *dir_stats;   /* struct stat of each */
  GPtrArray   *dir_names;   /* the component of each but "/" */
  GPtrArray   *pending;     /* components still to walk, the next one last */
  guint        n_symlinks;
} Walk;

static const char insecure_fix[] =
  "or, in a development tree only, pass TETHER_LOAD_ALLOW_INSECURE_PATH (tether-inspect "
  "--allow-insecure)";

static gboolean
owner_is_trusted (const struct stat *st)
{
  return st->st_uid == 0 || st->st_uid == geteuid ();
}

static const char *
writable_by (const struct stat *st)
{
  return (st->st_mode & S_IWOTH) != 0 ? "others" : "its group";
}

/* The physical path walked so far, with @last (nullable) appended. */
static char *
walked_path (const Walk *walk,
             const char *last)
{
  GString *path = g_string_new (NULL);

  for (guint i = 0; i < walk->dir_names->len; i++)
    g_string_append_printf (path, "/%s", (const char *) g_ptr_array_index (walk->dir_names, i));
  if (last != NULL)
    g_string_append_printf (path, "/%s", last);
  if (path->len == 0)
    g_string_append_c (path, '/');

  return g_string_free (path, FALSE);
}

static int
top_fd (const Walk *walk)
{
  return g_array_index (walk->dir_fds, int, walk->dir_fds->len - 1);
}

static const struct stat *
top_stat (const Walk *walk)
{
  return &g_array_index (walk->dir_stats, struct stat, walk->dir_stats->len - 1);
}

static void
push_dir (Walk              *walk,
          int                fd,
          const struct stat *st,
          const char        *name)
{
  g_array_append_val (walk->dir_fds, fd);
  g_array_append_val (walk->dir_stats, *st);
  if (name != NULL)
    g_ptr_array_add (walk->dir_names, g_strdup (name));
}

static void
pop_dir (Walk *walk)
{
  if (walk->dir_fds->len <= 1)
    return;   /* "/.." is "/" */
  close (top_fd (walk));
  g_array_set_size (walk->dir_fds, walk->dir_fds->len - 1);
  g_array_set_size (walk->dir_stats, walk->dir_stats->len - 1);
  g_ptr_array_set_size (walk->dir_names, walk->dir_names->len - 1);
}

static void
walk_clear (Walk *walk)
{
  while (walk->dir_fds->len > 1)
    pop_dir (walk);
  if (walk->dir_fds->len == 1)
    close (top_fd (walk));
  g_array_unref (walk->dir_fds);
  g_array_unref (walk->dir_stats);
  g_ptr_array_unref (walk->dir_names);
  g_ptr_array_unref (walk->pending);
}

/* Queues the components of @path so that the first is walked next. */
static void
push_components (Walk       *walk,
                 const char *path)
{
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);

  for (guint i = g_strv_length (parts); i > 0; i--)
    if (parts[i - 1][0] != '\0' && strcmp (parts[i - 1], ".") != 0)
      g_ptr_array_add (walk->pending, g_strdup (parts[i - 1]));
}

static gboolean
more_components (const Walk *walk)
{
  return walk->pending->len > 0;
}

static gboolean
fail_errno (const Walk  *walk,
            const char  *where,
            int          saved_errno,
            GError     **error)
{
  g_set_error (error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
               "Cannot load provider %s %s: %s: %s%s", walk->what, walk->subject, where,
               g_strerror (saved_errno), saved_errno == ENOENT ? " (check the path)" : "");
  return FALSE;
}

/* A directory the walk goes through (not the last one): see the top
 * comment. */
static gboolean
check_passing_dir (const Walk        *walk,
                   const struct stat *st,
                   GError           **error)
{
  g_autofree char *path = walked_path (walk, NULL);

  if (!walk->check)
    return TRUE;

  if (!owner_is_trusted (st))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INSECURE_PATH,
                   "Refusing provider %s %s: %s, a directory on the way to it, is owned by "
                   "uid %u, neither root nor the effective user (uid %u), so that user "
                   "could rename what it holds and put another file in its place. Keep the "
                   "%s under directories owned by root or by uid %u, %s",
                   walk->what, walk->subject, path, (guint) st->st_uid, (guint) geteuid (),
                   walk->what, (guint) geteuid (), insecure_fix);
      return FALSE;
    }

  if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st->st_mode & S_ISVTX) == 0)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INSECURE_PATH,
                   "Refusing provider %s %s: %s, a directory on the way to it, is writable "
                   "by %s (mode %04o) and not sticky, so another user could rename what it "
                   "holds and put another file in its place. Run `chmod go-w %s` (or "
                   "`chmod +t %s` for a shared directory, as /tmp is), %s",
                   walk->what, walk->subject, path, writable_by (st),
                   (guint) (st->st_mode & 07777), path, path, insecure_fix);
      return FALSE;
    }

  return TRUE;
}

/* The directory holding the module, or the search directory itself: what
 * _tether_loader_check_secure () always refused. @path is its physical
 * path; @label how the message calls it. */
static gboolean
check_final (const Walk        *walk,
             const struct stat *st,
             const char        *path,
             const char        *label,
             GError           **error)
{
  if (!walk->check)
    return TRUE;

  if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INSECURE_PATH,
                   "Refusing provider %s %s: it is writable by %s (mode %04o), so another "
                   "user could replace it. Run `chmod go-w %s`, %s. A build directory made "
                   "under umask 002 is group-writable: build with umask 022",
                   label, path, writable_by (st), (guint) (st->st_mode & 07777), path,
                   insecure_fix);
      return FALSE;
    }

  if (!owner_is_trusted (st))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INSECURE_PATH,
                   "Refusing provider %s %s: it is owned by uid %u, neither root nor the "
                   "effective user (uid %u), so that user could replace it. Install it as "
                   "root or `chown %u %s`, %s",
                   label, path, (guint) st->st_uid, (guint) geteuid (),
                   (guint) geteuid (), path, insecure_fix);
      return FALSE;
    }

  return TRUE;
}

/* Follows the symbolic link @name of the top directory (@fd opened with
 * O_PATH | O_NOFOLLOW, @st its stat). */
static gboolean
follow_symlink (Walk              *walk,
                const char        *name,
                int                fd,
                const struct stat *st,
                GError           **error)
{
  const struct stat *parent = top_stat (walk);
  char target[PATH_MAX + 1];
  gssize length;

  if (++walk->n_symlinks > MAX_SYMLINKS)
    {
      g_autofree char *path = walked_path (walk, name);

      return fail_errno (walk, path, ELOOP, error);
    }

  /* In a sticky shared directory anyone may add a link: only one of root's
   * or the effective user's may choose where the walk goes. */
  if (walk->check && (parent->st_mode & (S_IWGRP | S_IWOTH)) != 0 && !owner_is_trusted (st))
    {
      g_autofree char *path = walked_path (walk, name);
      g_autofree char *dir = walked_path (walk, NULL);

      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INSECURE_PATH,
                   "Refusing provider %s %s: the symbolic link %s is owned by uid %u in the "
                   "shared directory %s, so that user chose where it leads. Give the %s's "
                   "real path, %s",
                   walk->what, walk->subject, path, (guint) st->st_uid, dir, walk->what,
                   insecure_fix);
      return FALSE;
    }

  length = readlinkat (fd, "", target, sizeof target);
  if (length < 0 || (gsize) length >= sizeof target)
    {
      g_autofree char *path = walked_path (walk, name);

      return fail_errno (walk, path, length < 0 ? errno : ENAMETOOLONG, error);
    }
  target[length] = '\0';

  if (target[0] == '/')
    while (walk->dir_fds->len > 1)
      pop_dir (walk);
  push_components (walk, target);
  return TRUE;
}

/* Walks @path. On success the directory holding the last component is on
 * top of the walk, and @out_fd, @out_st and @out_name are the last
 * component's O_PATH descriptor, stat and name; a walk that ends on a
 * directory through ".." (or "/" itself) gives that directory, a
 * duplicate of its descriptor, and a NULL name. */
static gboolean
walk_path (Walk         *walk,
           const char   *path,
           int          *out_fd,
           struct stat  *out_st,
           char        **out_name,
           GError      **error)
{
  g_autofree char *absolute = NULL;
  struct stat st;
  int fd;

  if (g_path_is_absolute (path))
    absolute = g_strdup (path);
  else
    {
      g_autofree char *cwd = g_get_current_dir ();

      absolute = g_build_filename (cwd, path, NULL);
    }

  fd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &st) != 0)
    return fail_errno (walk, "/", errno, error);
  push_dir (walk, fd, &st, NULL);
  push_components (walk, absolute);

  while (more_components (walk))
    {
      g_autofree char *name = g_ptr_array_steal_index (walk->pending, walk->pending->len - 1);

      if (strcmp (name, "..") == 0)
        {
          pop_dir (walk);
          continue;
        }

      /* Every directory the walk looks into, "/" included, is checked
       * before it is trusted with the lookup. */
      if (!check_passing_dir (walk, top_stat (walk), error))
        return FALSE;

      fd = openat (top_fd (walk), name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0 || fstat (fd, &st) != 0)
        {
          int saved_errno = errno;
          g_autofree char *at = walked_path (walk, name);

          if (fd >= 0)
            close (fd);
          return fail_errno (walk, at, saved_errno, error);
        }

      if (S_ISLNK (st.st_mode))
        {
          gboolean followed = follow_symlink (walk, name, fd, &st, error);

          close (fd);
          if (!followed)
            return FALSE;
          continue;
        }

      if (!more_components (walk))
        {
          *out_fd = fd;
          *out_st = st;
          *out_name = g_steal_pointer (&name);
          return TRUE;
        }

      if (!S_ISDIR (st.st_mode))
        {
          g_autofree char *at = walked_path (walk, name);

          close (fd);
          return fail_errno (walk, at, ENOTDIR, error);
        }
      push_dir (walk, fd, &st, name);
    }

  /* Ended on a directory already held. */
  *out_fd = fcntl (top_fd (walk), F_DUPFD_CLOEXEC, 0);
  *out_st = *top_stat (walk);
  *out_name = NULL;
  if (*out_fd < 0)
    return fail_errno (walk, "dup", errno, error);
  return TRUE;
}

static void
walk_init (Walk            *walk,
           const char      *subject,
           const char      *what,
           TetherLoadFlags  flags)
{
  walk->subject = subject;
  walk->what = what;
  walk->check = (flags & TETHER_LOAD_ALLOW_INSECURE_PATH) == 0;
  walk->dir_fds = g_array_new (FALSE, FALSE, sizeof (int));
  walk->dir_stats = g_array_new (FALSE, FALSE, sizeof (struct stat));
  walk->dir_names = g_ptr_array_new_with_free_func (g_free);
  walk->pending = g_ptr_array_new_with_free_func (g_free);
  walk->n_symlinks = 0;
}

int
_tether_loader_open_file (const char       *path,
                          TetherLoadFlags   flags,
                          char            **out_real_path,
                          struct stat      *out_stat,
                          GError          **error)
{
  Walk walk;
  struct stat st, opened_st;
  g_autofree char *name = NULL;
  g_autofree char *dir_path = NULL;
  g_autofree char *real_path = NULL;
  int path_fd = -1;
  int fd = -1;

  walk_init (&walk, path, "module", flags);
  if (!walk_path (&walk, path, &path_fd, &st, &name, error))
    goto out;

  dir_path = walked_path (&walk, NULL);
  real_path = walked_path (&walk, name);
  if (name == NULL || !S_ISREG (st.st_mode))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                   "Cannot load provider module %s: not a regular file; give the path of "
                   "the module's .so file",
                   path);
      goto out;
    }
  if (!check_final (&walk, top_stat (&walk), dir_path, "directory", error) ||
      !check_final (&walk, &st, real_path, "module", error))
    goto out;

  /* O_PATH opened nothing; open the very same file for reading. Never a
   * FIFO or a device: it was a regular file, and O_NOFOLLOW plus the
   * identity check below refuse anything else put in its place. */
  fd = openat (top_fd (&walk), name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &opened_st) != 0)
    {
      int saved_errno = errno;

      fail_errno (&walk, real_path, saved_errno, error);
      if (fd >= 0)
        close (fd);
      fd = -1;
      goto out;
    }
  if (opened_st.st_dev != st.st_dev || opened_st.st_ino != st.st_ino ||
      !check_final (&walk, &opened_st, real_path, "module", error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_INSECURE_PATH,
                     "Refusing provider module %s: %s was replaced while it was being "
                     "checked; load it again once nobody is changing it",
                     path, real_path);
      close (fd);
      fd = -1;
      goto out;
    }

  if (out_real_path != NULL)
    *out_real_path = g_steal_pointer (&real_path);
  if (out_stat != NULL)
    *out_stat = opened_st;

out:
  if (path_fd >= 0)
    close (path_fd);
  walk_clear (&walk);
  return fd;
}

gboolean
_tether_loader_check_secure (const char  *path,
                             const char  *what,
                             GError     **error)
{
  Walk walk;
  struct stat st;
  g_autofree char *name = NULL;
  g_autofree char *real_path = NULL;
  gboolean ok = FALSE;
  int fd = -1;

  walk_init (&walk, path, what, TETHER_LOAD_NONE);
  if (!walk_path (&walk, path, &fd, &st, &name, error))
    goto out;

  real_path = walked_path (&walk, name);
  if (!S_ISDIR (st.st_mode))
    {
      fail_errno (&walk, real_path, ENOTDIR, error);
      goto out;
    }
  ok = check_final (&walk, &st, real_path, what, error);

out:
  if (fd >= 0)
    close (fd);
  walk_clear (&walk);
  return ok;
}
