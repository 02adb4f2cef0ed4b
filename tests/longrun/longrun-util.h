/* longrun-util.h: what the long-run tests share
 *
 * Each long-run test runs many jobs through tether_run_in_new_context()
 * from a GThreadPool of LONGRUN_WORKERS, with a real resource and a real
 * operation per job, under a limit of 1024 open files, and checks at the
 * end that nothing was left behind: open file descriptors, the jobs'
 * GMainContexts, the resource objects, and the template's counters.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "../plugins/plugin-test-util.h"

G_BEGIN_DECLS

#define LONGRUN_WORKERS   4
#define LONGRUN_FD_LIMIT  1024
/* Jobs per test unless TETHER_LONGRUN_JOBS says otherwise. */
#define LONGRUN_JOBS      1000
/* Open files a run may end with above its level after the warm-up jobs:
 * threads and wakeups GLib and GIO create once per process (the GDBus
 * worker thread's context, the GLib worker's) may appear late. */
#define LONGRUN_FD_SLACK  4
/* Jobs run before the open files are counted as the level to come back
 * to: what GLib and GIO make once per process is made by then. */
#define LONGRUN_WARM_UP   20

/* Sets RLIMIT_NOFILE's soft limit to LONGRUN_FD_LIMIT (or the hard limit,
 * if lower) and reports it. Call first in main(), after g_test_init(). */
void      longrun_init                (void);

/* The number of jobs to run: TETHER_LONGRUN_JOBS, or LONGRUN_JOBS. */
guint     longrun_n_jobs              (void);

/* Open file descriptors of this process (entries of /proc/self/fd). */
guint     longrun_count_fds           (void);

/* The jobs' contexts: each one a job watches is counted as made, and as
 * finalized from inside its last g_main_context_unref(). */
typedef struct
{
  gint made;        /* atomic */
  gint finalized;   /* atomic */
} LongrunContexts;

void      longrun_watch_context       (LongrunContexts *contexts,
                                       GMainContext    *context);

/* Counts @object's finalization (a weak reference) into *@counter. */
void      longrun_count_finalized     (GObject         *object,
                                       gint            *counter);

/* Acquires @template's resource for the calling thread's thread-default
 * context as job @number does: odd jobs with tether_template_acquire_async(),
 * iterating the context until it completes, even ones with
 * tether_template_acquire(). Returns the resource (transfer none) or NULL
 * with @error set. */
gpointer  longrun_acquire             (TetherTemplate  *template,
                                       guint            number,
                                       GError         **error);

/* Runs @job (@job_data) @n_jobs times on a GThreadPool of LONGRUN_WORKERS
 * exclusive threads; the job gets its number, from @first, as a pointer.
 * Returns when every job has returned and the threads have exited. */
void      longrun_run_pool            (guint            first,
                                       guint            n_jobs,
                                       GFunc            job,
                                       gpointer         job_data);

typedef struct _LongrunFds LongrunFds;

/* Counts the open files (@fds->fds_start), runs the first
 * LONGRUN_WARM_UP of @n_jobs jobs (all of them, if fewer) as
 * longrun_run_pool() does, numbered from 1, and counts again
 * (@fds->fds_warm). Returns how many jobs are left, to be numbered from
 * LONGRUN_WARM_UP + 1. */
guint     longrun_warm_up             (guint            n_jobs,
                                       GFunc            job,
                                       gpointer         job_data,
                                       LongrunFds      *fds);

/* Waits, at most @timeout_ms, for every *@values[i] (atomic) to reach
 * @targets[i]: what the last jobs released may be finalized a moment later
 * by GIO's own threads. Returns whether they did. */
gboolean  longrun_settle              (gint           **values,
                                       const gint      *targets,
                                       guint            n,
                                       guint            timeout_ms);

/* Where the run is: open files at the start (after the server or bus was
 * up and the template loaded), after the warm-up jobs, and at the end. */
struct _LongrunFds
{
  guint fds_start;
  guint fds_warm;
  guint fds_end;
};

/* The end of the jobs: waits, at most 5 s, for every resource made
 * (*@resources_made) to be finalized (*@resources_finalized) and every job
 * context too, since what the last jobs released may be finalized a moment
 * later by GIO's own threads; then counts the open files (@fds->fds_end). */
void      longrun_settle_end          (gint            *resources_finalized,
                                       gint            *resources_made,
                                       LongrunContexts *contexts,
                                       LongrunFds      *fds);

/* Reports and checks the end of a run: fds back within LONGRUN_FD_SLACK of
 * the warm level (and never far above the start), every job context
 * finalized, and the template's stats balanced with nothing held:
 * acquires_done - failures == graceful_releases + purged + n_held. */
void      longrun_check_end           (const char      *what,
                                       TetherTemplate  *template,
                                       const LongrunFds *fds,
                                       LongrunContexts *contexts);

G_END_DECLS
